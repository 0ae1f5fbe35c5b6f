"""FHIR operations of the measures package (each module declares one ``OPERATION``)."""
