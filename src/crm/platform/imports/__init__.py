"""Bringing a company's records in from files: reading them as a stream of rows (CSV in
UTF-8, with or without a BOM, or GB18030; xlsx), matching columns to fields by their English
or Chinese headers, and normalising values (:mod:`.sources`, :mod:`.values`). The import run
itself (dry run, confirm, resumable commands through the bus) is not built yet."""
