"""The doctors' room: the queue of triaged cases and each case's page, with its reviews. It shows
appointments beside the answers, so it sits above both the triage and the booking packages."""
