-- How strongly a release's variant is settled, so that a later import moves it only on
-- stronger evidence (src/import.c, imp__final): 3 = its file name names the variant
-- ("<variant>_images_...", "<variant>-ota_full-...", "miui_<MIUI name>_..."), 2 = an XFU
-- export names it as the entry's codename, 1 = devices.yml declares the card's display name
-- under it, 0 = romtrack made it up from the region ("cancro_global" for a page card).
-- Releases already stored cannot tell 2 from 1: they get 1 when their variant is declared.
ALTER TABLE release ADD COLUMN variant_evidence smallint NOT NULL DEFAULT 1
    CHECK (variant_evidence BETWEEN 0 AND 3);
UPDATE release r SET variant_evidence = CASE
    WHEN v.declared AND (r.filename LIKE replace(v.codename, '_', '\_') || '\_images\_%'
                         OR r.filename LIKE replace(v.codename, '_', '\_') || '-ota\_full-%'
                         OR r.filename LIKE 'miui\_' || replace(v.miui_name, '_', '\_') || '\_%') THEN 3
    WHEN v.declared THEN 1
    ELSE 0 END
  FROM variant v WHERE v.id = r.variant_id;
