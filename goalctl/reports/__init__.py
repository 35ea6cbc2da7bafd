"""Reports of validation and runs: Markdown, JSON, JUnit and GitHub Actions."""
