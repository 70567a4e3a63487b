"""Exchange access: clients for real exchanges and the built-in simulated market."""
