"""Fact consistency of a discharge draft against its record: dates, values, doses, diagnosis support."""
