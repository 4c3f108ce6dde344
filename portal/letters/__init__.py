"""Referral letters and scan requests: drafted from a triage case, signed by a doctor, sent as PDF and FHIR."""
