"""The Kaggle-style leaderboard: uploads, scoring, the BEAT ME baseline and leaderboard points."""
