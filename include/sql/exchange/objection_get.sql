SELECT * FROM meta.objections WHERE objection_id = :objection_id;
