"""The mock departments: realistic generators, defects with ground truth, the parking API and the
health database. Only the composition root (citydata.app) may import it; production code never does."""
