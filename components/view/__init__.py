"""view: a Streamlit app to look at predictions beside the image and the ground truth."""
