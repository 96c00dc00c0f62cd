"""The course: its dataset and answer key, the nbgrader course folder, markers and the release."""
