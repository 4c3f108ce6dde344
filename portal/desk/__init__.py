"""The front desk's room: the clinicians' day and week calendars (`calendar` lays the days out,
`calendar_views` shows them and acts on appointments), patients' records, booking for them and
the urgent cases to call (`patient_views`), working hours and time off (`schedule_views`), and
their forms (`forms`). Every write goes through the booking package's services."""
