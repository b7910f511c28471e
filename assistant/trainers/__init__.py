"""The trainers' room: the topic brief and the quiz."""
