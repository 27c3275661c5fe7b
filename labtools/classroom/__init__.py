"""The instructor's and the class's side: reset and solve plans (labstate, solved), the image archive (images),
the learner's record and export (progress), the class report (classreport) and shared-cluster workshops (workshop)."""
