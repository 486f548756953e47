-- What the client API needs: when each release last changed (Last-Modified), and the
-- orders of "all releases" and "latest" across devices.

ALTER TABLE release ADD COLUMN modified_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX release_order_idx ON release (sort_date DESC, version_sort DESC, id DESC);
CREATE INDEX release_variant_latest_idx ON release (variant_id, branch, type);
