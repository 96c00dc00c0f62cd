"""The course website: computed pages, bundled MathJax and the Jupyter Book build."""
