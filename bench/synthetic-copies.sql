-- Makes the database :copies times larger for the scaling benchmark: copies 2..:copies of every
-- device (codename <name>_copyN), its variants, display names and releases (file names prefixed
-- copyN-). The copies are as varied as the real data, since they are the real data again.
BEGIN;
INSERT INTO device (codename)
SELECT d.codename || '_copy' || n FROM device d, generate_series(2, :copies) AS n;
INSERT INTO variant (device_id, codename, region, miui_name, declared)
SELECT nd.id, v.codename || '_copy' || n, v.region, v.miui_name, v.declared
FROM variant v JOIN device d ON d.id = v.device_id, generate_series(2, :copies) AS n
JOIN device nd ON true WHERE nd.codename = d.codename || '_copy' || n;
INSERT INTO display_name (variant_id, name, declared)
SELECT nv.id, dn.name, dn.declared
FROM display_name dn JOIN variant v ON v.id = dn.variant_id, generate_series(2, :copies) AS n
JOIN variant nv ON true WHERE nv.codename = v.codename || '_copy' || n;
INSERT INTO release (variant_id, device_id, filename, version, version_sort, branch, type, region, android,
                     size_bytes, md5, release_date, changelog, links, version_family, version_numbers,
                     android_letter, device_code, region_code, version_suffix, region_by_name,
                     region_by_version, region_by_filename, incremental_from, incremental_to,
                     incremental_filename, incremental_url, warnings)
SELECT nv.id, nv.device_id, 'copy' || n || '-' || r.filename, r.version, r.version_sort, r.branch, r.type,
       r.region, r.android, r.size_bytes, r.md5, r.release_date, r.changelog, r.links, r.version_family,
       r.version_numbers, r.android_letter, r.device_code, r.region_code, r.version_suffix, r.region_by_name,
       r.region_by_version, r.region_by_filename, r.incremental_from, r.incremental_to,
       r.incremental_filename, r.incremental_url, r.warnings
FROM release r JOIN variant v ON v.id = r.variant_id, generate_series(2, :copies) AS n
JOIN variant nv ON true WHERE nv.codename = v.codename || '_copy' || n;
INSERT INTO release_name (release_id, display_name_id)
SELECT nr.id, ndn.id
FROM release_name rn JOIN release r ON r.id = rn.release_id JOIN display_name dn ON dn.id = rn.display_name_id
JOIN variant v ON v.id = dn.variant_id, generate_series(2, :copies) AS n
JOIN release nr ON true JOIN variant nv ON true JOIN display_name ndn ON true
WHERE nr.filename = 'copy' || n || '-' || r.filename AND nv.codename = v.codename || '_copy' || n
  AND ndn.variant_id = nv.id AND ndn.name = dn.name;
COMMIT;
