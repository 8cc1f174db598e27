"""Bringing a company's records in from files: reading them as a stream of rows (CSV in
UTF-8, with or without a BOM, or GB18030; xlsx), matching columns to fields by their English
or Chinese headers, and normalising values (:mod:`.sources`, :mod:`.mapping`, :mod:`.values`);
a row of customers as its command (:mod:`.customers`); the import run itself, a dry run then
resumable commands through the bus (:mod:`.run`), its record (:mod:`.record`), and its entry
points, ``crm import`` (:mod:`.cli`) and ``/imports`` (:mod:`.routes`)."""
