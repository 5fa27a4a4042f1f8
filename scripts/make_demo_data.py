"""Write the demo tasks' data with fixed seeds, offline: every run produces the same files.

    python scripts/make_demo_data.py                    # all demo tasks
    python scripts/make_demo_data.py text-embeddings    # one task

- tabular-digits: scikit-learn's bundled 8x8 digits (no download), a stratified 70/30 split.
- forecast-sales: a seeded daily sales series with trend, weekly and yearly seasonality and noise.
- text-embeddings: a seeded corpus of customer-support messages in six intents, composed from hand-written
  phrasings (see `INTENTS`); the training set sees only some phrasings of each intent, the test set all of them.

Each task's held-out answers go to a file its read-only `evaluate.py` reads; the experiment never needs them.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent

# The core request of a message, per intent. Slots {item}, {amount} and {day} are filled from pools shared by all
# intents, so product names, prices and dates carry no label information; money words appear in billing and refund,
# shipping words in delivery and refund, product names everywhere.
INTENTS: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for the {item}", "my card statement shows {amount} but the checkout said less",
        "there is a payment on my bank account I don't recognise", "the invoice lists a fee nobody told me about",
        "why did the price go up after I paid", "you billed my credit card again for the same purchase",
        "the total on my receipt does not add up", "I got hit with a {amount} subscription renewal I never agreed to",
        "the discount code was not applied to what I paid",
        "can you send a corrected invoice with our company VAT number",
        "my bank flagged a duplicate transaction from your shop", "the sales tax on the order looks wrong",
        "I need a copy of the bill for my expense report", "the amount debited was {amount}, not the advertised price",
        "my payment went through but the order says unpaid",
        "please explain this extra charge on my statement from {day}",
    ),
    "delivery": (
        "where is my {item}", "my parcel still hasn't shown up", "the tracking page has not updated in a week",
        "the courier says it was delivered but nothing arrived", "the shipment seems to be stuck at the depot",
        "it was supposed to arrive on {day} and it is still not here", "when will the {item} get to me",
        "the box never came", "nobody dropped anything off at my door", "how long does shipping to Canada usually take",
        "the estimated arrival date keeps moving back", "the driver left it at the wrong address",
        "can I change the delivery address before it goes out", "the package is marked as lost in transit",
        "I have been waiting three weeks for this order to be dispatched",
        "the carrier left a note but I was home all day on {day}",
    ),
    "refund": (
        "I would like my money back for the {item}", "how do I send the {item} back",
        "please reverse the payment, I cancelled the order",
        "I returned it two weeks ago and have not been reimbursed",
        "the {item} arrived broken and I want a replacement or refund", "can I exchange it for a different size",
        "I need a return label", "it does not fit, what is your return policy",
        "you received my return on {day} but no credit has appeared",
        "I changed my mind and want to cancel and get repaid", "the item is not as described so I am sending it back",
        "is the refund going to the original card or as store credit",
        "the refund was only partial, {amount} is missing", "I was promised reimbursement for the damaged goods",
        "can I still return this after thirty days", "the seller refused my return request",
    ),
    "account": (
        "I can't log in to my account", "the password reset email never arrives",
        "my account has been locked after too many attempts", "how do I change the email address on my profile",
        "I think someone else signed into my account", "please delete my account and all my data",
        "the two-factor code is not accepted", "I forgot my username",
        "how can I update my phone number in my profile settings", "my login stopped working since {day}",
        "I want to merge my two customer accounts", "I keep getting signed out every few minutes",
        "I never created an account but I get your newsletters", "how do I turn off marketing emails",
        "the verification link in the welcome mail has expired",
        "someone changed my password without my permission",
    ),
    "technical": (
        "the app crashes as soon as I open it", "the website shows an error when I click checkout",
        "the page keeps loading forever", "the {item} won't pair with my phone over bluetooth",
        "the firmware update failed halfway", "the search bar returns nothing for any query",
        "I get error 502 on your site", "the mobile app freezes on the product page",
        "the {item} turns off by itself after a few minutes", "images on the site do not load in my browser",
        "the companion app does not detect the device", "the screen flickers when the {item} is charging",
        "the checkout button is greyed out and does nothing", "since the latest update the app drains my battery",
        "the setup wizard gets stuck at ninety percent", "the {item} makes a clicking noise and stops working",
    ),
    "product": (
        "does the {item} come in other colours", "is the {item} compatible with an iPhone 12",
        "what are the dimensions of the {item}", "will the {item} be back in stock soon", "is this model waterproof",
        "does the {item} include a charger in the box", "what material is the strap made of",
        "how loud is the {item} when it runs", "is there a warranty on the {item}",
        "can the {item} be used outdoors in winter", "which version would you recommend for a small kitchen",
        "how much does the larger size weigh", "are spare parts available for the {item}",
        "is the {item} suitable for children", "what is the difference between the standard and the pro version",
        "does it work with 110 volt outlets",
    ),
}
ITEMS = ("headphones", "coffee grinder", "desk lamp", "running shoes", "phone case", "blender", "backpack",
         "smart watch", "kettle", "office chair", "speaker", "hair dryer", "rain jacket", "keyboard", "air purifier")
AMOUNTS = ("$24.99", "$89", "$12.50", "$140", "$7.99", "$310", "$55")
DAYS = ("Monday", "Tuesday", "Friday", "the 3rd", "last weekend", "March 14", "the 21st")
OPENERS = ("", "", "", "Hi, ", "Hello, ", "Hey there. ", "Good morning, ", "Hi team, ", "Dear support, ",
           "Quick question: ", "Sorry to bother you, but ", "Urgent: ")
CONTEXTS = ("", "", "", " I ordered it on {day}.", " My order number is {num}.",
            " This is my second message about this.", " I have been a customer for years.",
            " I already checked the FAQ.", " It is a gift for my sister.",
            " I bought the {item} on {day}.", " Order {num}.")
CLOSERS = ("", "", "", " Thanks.", " Thank you!", " Please help.", " Any update would be appreciated.",
           " Regards, Sam", " Cheers", " Please get back to me asap.", " Thanks in advance.")
QUESTION_WORDS = frozenset({"where", "when", "how", "why", "can", "does", "is", "will", "what", "which", "are"})


def support_message(rng: random.Random, core: str) -> str:
    """One customer message around the request `core`: optional greeting, context and sign-off, varied punctuation
    and sometimes all lower case (as people type)."""
    fill = {"item": rng.choice(ITEMS), "amount": rng.choice(AMOUNTS), "day": rng.choice(DAYS),
            "num": str(rng.randint(100000, 999999))}
    opener = rng.choice(OPENERS)
    body = core.format(**fill)
    if not opener or opener.endswith((". ", ": ")):
        body = body[0].upper() + body[1:]
    end = "?" if body.split()[0].lower() in QUESTION_WORDS else "."
    text = opener + body + rng.choice((end, end, "", "!" if end == "." else "??"))
    text += rng.choice(CONTEXTS).format(**fill) + rng.choice(CLOSERS)
    return (text.lower() if rng.random() < 0.3 else text).strip()


def support_corpus(seed: int = 11, train_per_intent: int = 40, test_per_intent: int = 60,
                   seen_phrasings: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test messages (columns text, label): training draws on `seen_phrasings` of each intent's
    phrasings, the test on all of them, so half of the test requests are worded in ways training never shows."""
    rng = random.Random(seed)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for label, phrasings in INTENTS.items():
        shuffled = list(phrasings)
        rng.shuffle(shuffled)
        train += [(support_message(rng, rng.choice(shuffled[:seen_phrasings])), label) for _ in range(train_per_intent)]
        test += [(support_message(rng, rng.choice(shuffled)), label) for _ in range(test_per_intent)]
    rng.shuffle(train)
    rng.shuffle(test)
    return pd.DataFrame(train, columns=["text", "label"]), pd.DataFrame(test, columns=["text", "label"])


def text_embeddings() -> None:
    """240 training and 360 test messages in six intents; test labels held out in data/test_labels.csv."""
    train, test = support_corpus()
    data = ROOT / "workspaces" / "text-embeddings" / "data"
    data.mkdir(parents=True, exist_ok=True)
    train.insert(0, "id", range(len(train)))
    test.insert(0, "id", range(len(test)))
    train.to_csv(data / "train.csv", index=False)
    test[["id", "text"]].to_csv(data / "test.csv", index=False)
    test[["id", "label"]].to_csv(data / "test_labels.csv", index=False)


def tabular_digits() -> None:
    """8x8 handwritten digits as 64 pixel columns; 70/30 stratified split."""
    digits = load_digits(as_frame=True)
    frame = digits.frame.rename(columns={"target": "label"})
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["label"])
    data = ROOT / "workspaces" / "tabular-digits" / "data"
    data.mkdir(parents=True, exist_ok=True)
    train.to_csv(data / "train.csv", index=False)
    test.drop(columns=["label"]).assign(id=range(len(test))).to_csv(data / "test.csv", index=False)
    pd.DataFrame({"id": range(len(test)), "label": test["label"].to_numpy()}).to_csv(data / "test_labels.csv",
                                                                                  index=False)


def forecast_sales() -> None:
    """Three years of daily sales with trend, weekly and yearly seasonality and noise; the last 60 days held out."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2021-01-01", periods=3 * 365, freq="D")
    t = np.arange(len(days))
    weekly = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.5, 1.3])[days.day_of_week]
    yearly = 1 + 0.25 * np.sin(2 * np.pi * (days.day_of_year - 80) / 365.25)
    sales = (200 + 0.15 * t) * weekly * yearly + rng.normal(0, 12, len(t))
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "sales": sales.round(2)})
    data = ROOT / "workspaces" / "forecast-sales" / "data"
    data.mkdir(parents=True, exist_ok=True)
    frame.iloc[:-60].to_csv(data / "history.csv", index=False)
    frame.iloc[-60:][["date"]].to_csv(data / "horizon.csv", index=False)
    frame.iloc[-60:].to_csv(data / "horizon_truth.csv", index=False)


MAKERS: dict[str, Callable[[], None]] = {"tabular-digits": tabular_digits, "forecast-sales": forecast_sales,
                                         "text-embeddings": text_embeddings}

if __name__ == "__main__":
    unknown = [name for name in sys.argv[1:] if name not in MAKERS]
    if unknown:
        sys.exit(f"make_demo_data.py: unknown task {unknown[0]!r}; choose from {', '.join(MAKERS)}")
    for name in sys.argv[1:] or list(MAKERS):
        MAKERS[name]()
        print(f"wrote workspaces/{name}/data")
