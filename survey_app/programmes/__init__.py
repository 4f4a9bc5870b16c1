"""Programme definitions: timepoints anchored to a date, their windows and the battery given at each."""
