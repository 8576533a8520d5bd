"""augment: the report's copy-paste of rare classes onto the most background-heavy training images."""
