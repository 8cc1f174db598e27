"""The report engines: each turns the documents of its read models into the report's tables
(pure functions, counted at query time). Conventions shared by every report:

- Rates are decimal strings with 4 places (``"0.5000"`` = 50 %), null when the denominator is
  0; durations are decimal strings (days and hours with 2 places, minutes with 2 places);
  money is ``{"amount": "<decimal string>", "currency": "EUR"}``, summed with Decimal and
  rounded (half to even) to the currency's minor unit only where a product made it longer.
- Each report is a JSON object whose lists are its tables; ``*_COLUMNS`` name each table's
  columns (nested objects as ``field.sub``) for CSV.
"""
