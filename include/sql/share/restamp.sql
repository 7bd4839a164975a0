-- Give the rows of a publication the publication's final timestamp (taken just before commit).
UPDATE {{target}} SET _t_published = :t_published WHERE _batch_id = :batch_id;
