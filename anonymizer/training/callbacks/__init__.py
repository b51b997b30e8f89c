"""Lightning callbacks: image panels, metric history, export, exact resume and safe stops."""
