"""The scheduling domain: clinicians, their hours, appointment types and appointments."""
