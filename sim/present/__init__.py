"""What people read: charts, diagrams and the report, drawn from result folders only."""
