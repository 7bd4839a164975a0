-- One row of a layer's table by its primary key.
SELECT {{select}} FROM {{table}} WHERE ({{primary_key}}) = ({{binds}});
