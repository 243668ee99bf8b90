"""Vietnamese function words and the phrases of a question: words that say what kind of
answer is wanted, not what it is about."""

from __future__ import annotations

from search_service.text.fold import fold_token

# Function words and question words: not worth a mark in a snippet, nor a syllable pair of
# their own. (They still rank as single terms: dropping them measured worse.)
STOP_EXACT = frozenset("""
và của các là có được cho trong những với thì mà này đó theo về để khi như bị do nếu
hoặc một hai ra vào tại từ đến trên dưới sau trước nào gì ai đâu bao nhiêu không hay
sai đúng phải thế nên cũng đã đang sẽ rằng vì nhưng lại còn chỉ đều vẫn rất hơn nhất
ở bởi qua cùng nhau mỗi mọi
""".split())
# Typed without diacritics, a syllable counts as a stop word if any of them folds to it.
STOP_WORDS = frozenset(fold_token(w) for w in STOP_EXACT)
# How people phrase a question, and legal boilerplate: they say what kind of answer is
# wanted, not what it is about ("Hồ sơ … gồm những gì?", "… có bị xử phạt không?"), so
# their syllables weigh less (soft stop words) and their pairs are no evidence at all.
QUESTION_PHRASES = tuple(tuple(p.split()) for p in """
như thế nào|thế nào|ra sao|là gì|là như thế nào|gồm những gì|bao gồm những gì|gồm những|
những gì|có những gì|những nội dung gì|nội dung gì|những yêu cầu gì|yêu cầu gì|những điều kiện gì|
điều kiện gì|những giấy tờ gì|giấy tờ gì|hay không|có phải|phải không|được không|có không|
không ạ|bao nhiêu|bao lâu|khi nào|lúc nào|ở đâu|những ai|ai|những trường hợp nào|trường hợp nào|
những nào|nào|theo quy định|theo quy định của pháp luật|quy định của pháp luật|
theo quy định hiện hành|theo pháp luật|pháp luật hiện hành|hiện hành|hiện nay|được quy định|
quy định như thế nào|có được|có bị|có cần|có phải là|cần phải|cần những|cho tôi hỏi|xin hỏi|
tôi muốn hỏi|cho hỏi|vậy|ạ
""".replace("\n", "").split("|") if p.strip())

