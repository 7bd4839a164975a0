"""The sharing layer (共享交换): masked, published copies of core data, per sharing type."""
