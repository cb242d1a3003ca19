"""Screen analysis: what changed since the text we already read, which regions to OCR, and
the text state over time. Screen recordings are mostly still, so OCR cost follows the
changed area, not the frame count."""
