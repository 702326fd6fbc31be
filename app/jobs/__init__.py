"""Training jobs as the API sees them: sent to the broker by name (`broker`), recorded
where every API replica reads them (`records`)."""
