"""Lightning callbacks: image panels, metric history, export."""
