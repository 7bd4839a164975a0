"""What the county's systems are: code lists, citizen-ID and plate rules, the townships, masking of
sensitive field kinds and the one time zone. Pure rules, no I/O."""
