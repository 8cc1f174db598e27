"""The sales context's application layer: authorise, load, run the domain, append."""
