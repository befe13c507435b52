DROP TABLE mirror_syncs;
DROP TABLE mirror_tarballs;
DROP TABLE mirror_resources;
