"""What people use: the command line, the policy explorer's logic and widgets, the assumptions register."""
