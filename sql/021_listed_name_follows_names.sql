-- A variant's listed name (sql/020) is one of its display names: when that name goes (PUT
-- /api/devices/{codename}/variants/{variant} replaces a variant's names, or a name is renamed or deleted by hand),
-- the variant is listed under its first remaining name again (listed_name NULL), not under a name it no longer has.
CREATE FUNCTION display_name_unlist() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE variant v SET listed_name = NULL
      FROM old_rows o
     WHERE v.id = o.variant_id AND v.listed_name = o.name
       AND NOT EXISTS (SELECT FROM display_name n WHERE n.variant_id = v.id AND n.name = v.listed_name);
    RETURN NULL;
END $$;

CREATE TRIGGER display_name_unlist_delete AFTER DELETE ON display_name
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION display_name_unlist();
CREATE TRIGGER display_name_unlist_update AFTER UPDATE ON display_name
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION display_name_unlist();
