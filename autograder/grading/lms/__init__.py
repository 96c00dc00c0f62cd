"""What the LMS knows and takes: student identities, rosters, hand-in times and late
penalties, and grade files in Canvas's and Moodle's own import formats.
"""
