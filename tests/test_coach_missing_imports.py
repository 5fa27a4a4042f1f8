"""Adding every missing import at once (the coach's `missing_imports` rule, copilot/coach/repairs.py), on the shape
that took a small model six fix rounds: a script using torch, nn, DataLoader and StandardScaler, importing none."""

from __future__ import annotations

import json

from copilot.coach.base import FiringLog
from copilot.coach.repairs import add_missing_imports, undefined_names
from copilot.coach.small import RuleCoach
from copilot.rundir import JsonlWriter

IMPORTS = {"np": "import numpy as np", "torch": "import torch", "nn": "from torch import nn",
           "DataLoader": "from torch.utils.data import DataLoader", "TensorDataset":
           "from torch.utils.data import TensorDataset", "F": "import torch.nn.functional as F"}
SCRIPT = '''"""Train a small network."""
from __future__ import annotations

import numpy as np
import pandas as pd

train = pd.read_csv("data/train.csv")
scaler = StandardScaler()
X = torch.tensor(scaler.fit_transform(train[["x"]]), dtype=torch.float32)
loader = DataLoader(TensorDataset(X, X), batch_size=32)
model = nn.Sequential(nn.Linear(1, 1))
print(np.mean([1.0]))
'''


def name_error(name: str, line: int = 9) -> str:
    return (f'Traceback (most recent call last):\n  File "/runs/r1/workspace/train.py", line {line}, in <module>\n'
            f"    ...\nNameError: name '{name}' is not defined")


def test_undefined_names_are_the_names_read_and_bound_nowhere_in_order_of_first_use():
    code = '''import numpy as np, os.path
from torch import nn as neural
import sklearn.linear_model as lm

def fit(data, *args, scale=1.0, **kwargs):
    global counter
    counter = len(data)
    rows = [row * scale for row in data if row]
    pairs = {key: value for key, value in kwargs.items()}
    square = lambda v, /, w=2, *, power=3: v ** power
    if (size := len(rows)) > limit:
        return Model(rows, square, pairs, size)
    with open(__file__) as handle, opener() as (first, second):
        try:
            return handle.read(), first, second, os.path.sep, np.pi, neural.Linear, lm.Ridge
        except ValueError as error:
            return error, torch.zeros(1)

class Trainer(Base):
    epochs = 3
    def run(self):
        return self.epochs, fit, Trainer, print, __name__, later, counter, helper.value, missing.attr

for index in range(3):
    later = index
'''
    assert undefined_names(code) == ["limit", "Model", "opener", "torch", "Base", "helper", "missing"]


def test_a_name_bound_anywhere_is_not_reported():
    # Used before a later global assignment, bound only in a function, or by a match capture: a scoping or ordering
    # problem for the model, never a missing import.
    assert undefined_names("def f():\n    return model\n\nmodel = 1\n") == []
    assert undefined_names("print(total)\n\ndef g():\n    total = 1\n") == []
    assert undefined_names("match point:\n    case [x, *rest]:\n        print(x, rest)\n    case {'a': 1, **others}:"
                           "\n        print(others)\n    case Point(x=px) as whole:\n        print(px, whole)\n") \
        == ["point", "Point"]
    assert undefined_names("del item\nitem\n") == []


def test_undefined_names_guesses_nothing():
    assert undefined_names("x = (\n") == []
    assert undefined_names("from pylab import *\nplot(x)\n") == [], "a star import may bind any name"
    assert undefined_names("print(len([]), ValueError, __file__)\n") == []


def test_every_missing_import_is_added_at_once_after_the_imports():
    fixed = add_missing_imports(SCRIPT, name_error("StandardScaler", 8), "train.py", IMPORTS, scikit_learn=True)
    assert fixed is not None
    added = ("from sklearn.preprocessing import StandardScaler\nimport torch\nfrom torch.utils.data import DataLoader\n"
             "from torch.utils.data import TensorDataset\nfrom torch import nn\n")
    assert fixed.code == SCRIPT.replace("import pandas as pd\n", "import pandas as pd\n" + added)
    assert fixed.description == "added the missing imports: " + "; ".join(added.splitlines())
    assert undefined_names(fixed.code) == []
    compile(fixed.code, "train.py", "exec")  # `from __future__` is still first
    # The name that failed picks the rule; the others come along. Without scikit-learn's table, no StandardScaler.
    torch_only = add_missing_imports(SCRIPT, name_error("torch"), "train.py", IMPORTS, scikit_learn=False)
    assert torch_only is not None and "import StandardScaler" not in torch_only.code
    assert torch_only.description.startswith("added the missing imports: import torch; from torch.utils.data")


def test_placement_without_imports_and_with_a_docstring_or_future_import_only():
    used = "x = torch.zeros(1)\n"
    assert add_missing_imports(used, name_error("torch", 1), "train.py", IMPORTS, False).code == "import torch\n" + used
    header = '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n'
    fixed = add_missing_imports(header + used, name_error("torch", 3), "train.py", IMPORTS, False)
    assert fixed is not None and fixed.code == header + "import torch\n" + used
    documented = '"""Doc,\non two lines."""\n\n' + used
    fixed = add_missing_imports(documented, name_error("torch", 4), "train.py", IMPORTS, False)
    assert fixed is not None and fixed.code == '"""Doc,\non two lines."""\nimport torch\n\n' + used
    future = '"""Doc."""\nfrom __future__ import annotations\n' + used
    fixed = add_missing_imports(future, name_error("torch", 3), "train.py", IMPORTS, False)
    assert fixed is not None and fixed.code == '"""Doc."""\nfrom __future__ import annotations\nimport torch\n' + used
    # Imports after the first other statement are left where they are; no newline at the end of the file.
    late = "import os\nprint(os.sep)\nimport sys\ny = F.relu(torch.ones(1))"
    fixed = add_missing_imports(late, name_error("F", 4), "train.py", IMPORTS, False)
    assert fixed is not None and fixed.code == late.replace("import os\n", "import os\nimport torch.nn.functional as "
                                                                          "F\nimport torch\n")
    same_line = add_missing_imports("import os; print(torch)", name_error("torch", 1), "train.py", IMPORTS, False)
    assert same_line is not None and same_line.code == "import torch\nimport os; print(torch)"


def test_an_import_already_there_is_not_added_again():
    code = "import torch\nfrom torch import nn\nimport torch.nn as nn\nmodel = nn.Linear(1, 1)\nx = np.zeros(1)\n"
    fixed = add_missing_imports(code, name_error("np", 5), "train.py", IMPORTS, False)
    assert fixed is not None and fixed.description == "added the missing imports: import numpy as np"
    assert fixed.code.count("import torch\n") == 1 and fixed.code.count("import numpy as np\n") == 1
    same_line = {"Dataset": "from torch.utils.data import Dataset, DataLoader",
                 "DataLoader": "from torch.utils.data import Dataset, DataLoader"}
    both = add_missing_imports("DataLoader(Dataset())\n", name_error("DataLoader", 1), "train.py", same_line, False)
    assert both is not None and both.code == "from torch.utils.data import Dataset, DataLoader\nDataLoader(Dataset())\n"


def test_nothing_is_guessed():
    # A name without a known import line; no NameError; a NameError on a name the script binds (an ordering
    # problem) or does not use (raised elsewhere); code that does not parse.
    helper = "import torch\nx = my_helper(torch.zeros(1), nn)\n"
    assert add_missing_imports(helper, name_error("my_helper", 2), "train.py", IMPORTS, True) is None
    assert add_missing_imports(SCRIPT, "KeyError: 'x'", "train.py", IMPORTS, True) is None
    assert add_missing_imports("print(torch)\nimport torch\n", name_error("torch", 1), "train.py", IMPORTS, True) \
        is None
    assert add_missing_imports(SCRIPT, name_error("np", 1), "train.py", IMPORTS, True) is None
    assert add_missing_imports("x = (\n", name_error("torch", 1), "train.py", IMPORTS, True) is None


def test_the_builtin_rule_repairs_and_its_firing_is_recorded(tmp_path):
    writer = JsonlWriter(tmp_path / "coach" / "firings.jsonl")
    coach = RuleCoach().bind(None, FiringLog(writer))
    coach.begin_attempt("a002")
    fixed = coach.repair(SCRIPT, name_error("torch"), "train.py", [])
    writer.close()
    assert fixed is not None and "from sklearn.preprocessing import StandardScaler\nimport torch\n" in fixed.code
    assert "from torch.utils.data import TensorDataset\nfrom torch import nn\n" in fixed.code
    records = [json.loads(line) for line in (tmp_path / "coach" / "firings.jsonl").read_text().splitlines()]
    assert [(r["rule"], r["event"], r["attempt"]) for r in records] == [("missing_imports", "repair", "a002")]
    assert records[0]["detail"].startswith("added the missing imports: from sklearn.preprocessing import")
    assert coach.firings.count == {"missing_imports": 1}
    assert RuleCoach(disabled=["missing_imports"]).repair(SCRIPT, name_error("torch"), "train.py", []) is None
