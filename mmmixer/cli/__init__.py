"""The logic behind ``tools/*.py``; each tool is a thin wrapper that calls ``main()`` here."""
