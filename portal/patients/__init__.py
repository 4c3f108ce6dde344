"""Patient records and search: finding a patient by name, email, phone or date of birth, with the
latest triage and next visit of each (`search`), and the search's own index table (`models`)."""
