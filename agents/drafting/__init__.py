"""The discharge-summary drafter (出院记录): record sections, note templates, extractive drafting."""
