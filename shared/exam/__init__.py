"""The examiner: question bank, test plan, examiner policy and follow-up questions."""
