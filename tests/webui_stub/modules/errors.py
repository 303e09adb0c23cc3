"""errors.report / errors.display: the WebUI prints; the stand-in also keeps them for assertions."""

reported = []


def report(message, *, exc_info=False):
    reported.append(message)


def display(exception, task):
    reported.append(f"{task}: {exception}")
