"""nbgrader settings for the course; nbgrader reads this file from the course root.

`coursekit` always runs nbgrader with this folder as the working directory.
"""

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "cnn-course"
# Training cells run in fast mode under nbgrader, but loading TensorFlow and
# predicting 10,000 images still takes longer than nbgrader's 30 s default.
c.Execute.timeout = 300
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Students hand in submission.csv and fashion_model.keras with their notebooks (nbgrader's
# submit keeps them); `coursekit grade` leaves both out of the folder a notebook is re-run in,
# so that its tests check the files the notebook writes itself.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
