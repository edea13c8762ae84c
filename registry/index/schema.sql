-- layerlab's registry as SQL: a model derived from the store (the directory
-- tree is the source of truth; this database is rebuilt from it whenever
-- `registry sql` runs). Digests are text such as 'sha256:ab12…'; sizes are bytes.

-- Every repository holding at least one manifest.
CREATE TABLE repositories (
  name TEXT PRIMARY KEY
);

-- Tags: a name in a repository pointing at a manifest.
CREATE TABLE tags (
  repository TEXT NOT NULL,
  tag        TEXT NOT NULL,
  digest     TEXT NOT NULL,          -- the manifest it points at
  PRIMARY KEY (repository, tag)
);

-- Manifests, content addressed: one row per digest, whatever the number of
-- repositories holding it (see repository_manifests).
CREATE TABLE manifests (
  digest        TEXT PRIMARY KEY,
  media_type    TEXT NOT NULL,
  artifact_type TEXT,                -- an artifact's type; for images the config's media type
  kind          TEXT NOT NULL,       -- 'image', 'index' or 'artifact' (signature, SBOM…)
  size          INTEGER NOT NULL,    -- of the manifest itself
  subject       TEXT,                -- a referrer's subject manifest
  created       TEXT,                -- images: the config's "created" (RFC 3339)
  platform      TEXT,                -- images: os/architecture[/variant] from the config
  layers        INTEGER NOT NULL,    -- how many layers
  top_chain     TEXT                 -- chain of the last layer (see manifest_blobs.chain)
);

-- Which repository holds which manifest, and when it was last pushed there.
CREATE TABLE repository_manifests (
  repository TEXT NOT NULL,
  digest     TEXT NOT NULL,
  pushed     TEXT NOT NULL,
  PRIMARY KEY (repository, digest)
);

-- What each manifest references: its config, its layers in order, or (an
-- index) its child manifests with their platform.
CREATE TABLE manifest_blobs (
  manifest   TEXT NOT NULL,
  role       TEXT NOT NULL,          -- 'config', 'layer' or 'child'
  position   INTEGER NOT NULL,       -- 0 for the config; layer or child order
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,       -- as the descriptor says
  media_type TEXT NOT NULL,
  platform   TEXT,                   -- children: os/architecture[/variant]
  external   INTEGER NOT NULL,       -- 1: a non-distributable layer (urls), not stored here
  chain      TEXT,                   -- layers: identifies layers 0..position together, like the
                                     -- OCI ChainID: equal chains, equal layer prefixes
  PRIMARY KEY (manifest, role, position)
);
CREATE INDEX manifest_blobs_digest ON manifest_blobs (digest);
CREATE INDEX manifest_blobs_chain ON manifest_blobs (chain, position);

-- Every blob file on disk (layers, configs and manifests alike).
CREATE TABLE blobs (
  digest TEXT PRIMARY KEY,
  size   INTEGER NOT NULL            -- bytes on disk
);

-- Links: which repositories may serve which blob (deduplication made visible).
CREATE TABLE blob_links (
  repository TEXT NOT NULL,
  digest     TEXT NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX blob_links_digest ON blob_links (digest);

-- The image config's history: the step (a Dockerfile line) that made each
-- layer. Steps that made no layer (empty_layer) are left out, so position
-- matches manifest_blobs.position of the layer.
CREATE TABLE history (
  manifest   TEXT NOT NULL,
  position   INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (manifest, position)
);

-- Upload sessions in progress.
CREATE TABLE uploads (
  id         TEXT PRIMARY KEY,
  repository TEXT NOT NULL,
  size       INTEGER NOT NULL,       -- bytes received so far
  started    TEXT NOT NULL
);

-- Referrers: manifests that name a subject (signatures, SBOMs, attestations).
CREATE VIEW referrers AS
SELECT rm.repository, m.subject, m.digest AS referrer, m.artifact_type
FROM repository_manifests rm JOIN manifests m ON m.digest = rm.digest
WHERE m.subject IS NOT NULL;

-- Images by repository, with their tags and size (config + layers).
CREATE VIEW images AS
SELECT rm.repository, m.digest,
       (SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags t
          WHERE t.repository = rm.repository AND t.digest = m.digest ORDER BY tag)) AS tags,
       m.layers, m.platform, m.created,
       (SELECT sum(size) FROM manifest_blobs b WHERE b.manifest = m.digest AND b.role IN ('config', 'layer')) AS bytes
FROM repository_manifests rm JOIN manifests m ON m.digest = rm.digest
WHERE m.kind = 'image';

-- Layers that more than one image uses: stored once, pulled once per host.
CREATE VIEW shared_layers AS
SELECT l.digest, l.size, count(DISTINCT l.manifest) AS images,
       (SELECT count(*) FROM blob_links bl WHERE bl.digest = l.digest) AS repositories
FROM manifest_blobs l JOIN manifests m ON m.digest = l.manifest AND m.kind = 'image'
WHERE l.role = 'layer'
GROUP BY l.digest
HAVING count(DISTINCT l.manifest) > 1;

-- What each repository's manifests reference (themselves, configs, stored
-- layers), each once per repository: what `registry du` counts.
CREATE VIEW repository_blobs AS
SELECT repository, digest FROM repository_manifests
UNION
SELECT rm.repository, b.digest
FROM repository_manifests rm JOIN manifest_blobs b ON b.manifest = rm.digest
WHERE b.role IN ('config', 'layer') AND b.external = 0;

-- Bytes saved by deduplication: what the repositories would take if each
-- stored its own copy (logical) minus what the disk holds for them.
CREATE VIEW dedup AS
WITH logical AS (SELECT coalesce(sum(b.size), 0) AS bytes FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest),
     stored AS (SELECT coalesce(sum(size), 0) AS bytes FROM blobs WHERE digest IN (SELECT digest FROM repository_blobs))
SELECT logical.bytes AS logical_bytes, stored.bytes AS stored_bytes, logical.bytes - stored.bytes AS saved_bytes
FROM logical, stored;

-- Images built on a base: the base's layers are a proper prefix of the
-- image's (found through chains: the image holds the base's last chain at
-- the same position, and has more layers).
CREATE VIEW built_on AS
SELECT l.manifest AS image, base.digest AS base, base.layers AS shared_layers
FROM manifests base
JOIN manifest_blobs l ON l.role = 'layer' AND l.chain = base.top_chain AND l.position = base.layers - 1
JOIN manifests i ON i.digest = l.manifest AND i.kind = 'image' AND i.layers > base.layers
WHERE base.kind = 'image';

-- What `registry gc --delete-untagged --grace 0` would delete: manifests no
-- tag reaches, neither directly, nor as a child of a kept index, nor as a
-- referrer of a kept manifest, nor as the subject of a kept referrer.
-- (gc also keeps what was pushed within its grace period, 15 minutes by default.)
CREATE VIEW gc_untagged_manifests AS
WITH RECURSIVE kept(repository, digest) AS (
  SELECT t.repository, t.digest FROM tags t
  JOIN repository_manifests rm ON rm.repository = t.repository AND rm.digest = t.digest
  UNION
  SELECT rm.repository, rm.digest FROM kept k
  JOIN manifest_blobs c ON c.manifest = k.digest AND c.role = 'child'
  JOIN repository_manifests rm ON rm.repository = k.repository AND rm.digest = c.digest
  UNION
  SELECT rm.repository, rm.digest FROM kept k
  JOIN manifests r ON r.subject = k.digest
  JOIN repository_manifests rm ON rm.repository = k.repository AND rm.digest = r.digest
  UNION
  SELECT rm.repository, rm.digest FROM kept k
  JOIN manifests r ON r.digest = k.digest
  JOIN repository_manifests rm ON rm.repository = k.repository AND rm.digest = r.subject
)
SELECT rm.repository, rm.digest FROM repository_manifests rm
WHERE NOT EXISTS (SELECT 1 FROM kept k WHERE k.repository = rm.repository AND k.digest = rm.digest);

-- What `registry gc --grace 0` would delete: blobs no stored manifest
-- references (nor are manifests themselves).
CREATE VIEW gc_unreferenced_blobs AS
SELECT digest, size FROM blobs
WHERE digest NOT IN (SELECT digest FROM repository_manifests)
  AND digest NOT IN (SELECT digest FROM manifest_blobs WHERE external = 0);

-- The largest layers, with the step that made them.
CREATE VIEW largest_layers AS
SELECT l.digest, max(l.size) AS size, count(DISTINCT l.manifest) AS images, min(h.created_by) AS created_by
FROM manifest_blobs l LEFT JOIN history h ON h.manifest = l.manifest AND h.position = l.position
WHERE l.role = 'layer'
GROUP BY l.digest
ORDER BY size DESC, l.digest;
