SELECT COUNT(*) FROM {{table}};
