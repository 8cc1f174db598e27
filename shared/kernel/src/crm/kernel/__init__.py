"""The machinery every bounded context uses, behind small ports."""
