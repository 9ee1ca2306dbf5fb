"""One runner per pipeline step type; each takes a StepContext and returns a StepResult."""
