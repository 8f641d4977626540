"""The data layer: loaders for every source, cleaning, the canonical form, splits, sampling."""
