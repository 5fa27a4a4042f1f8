"""
Copyright (c) Meta Platforms, Inc. and affiliates.
"""

import random


def target_column_strategy(history):
    """
    Example function to select the next strategy for a column player given history. 
    Parameters:
    history (list of tuple): A list where each tuple contains the strategies used by the row and column players in previous turns.
                             Each tuple is of the form (strategy_row, strategy_col).

    Returns:
    int: The next strategy for the column player (0 or 1).
    """
    total_soldiers = 120
    num_battlefields = 6
    allocation = [random.randint(0, total_soldiers) for _ in range(num_battlefields)]
    
    # Normalize the allocation to ensure the total number of soldiers is 120
    allocation_sum = sum(allocation)
    normalized_allocation = [int(x * total_soldiers / allocation_sum) for x in allocation]
    
    # Adjust any rounding errors to ensure the total is exactly 120
    while sum(normalized_allocation) != total_soldiers:
        diff = total_soldiers - sum(normalized_allocation)
        index = random.randint(0, num_battlefields - 1)
        normalized_allocation[index] += diff
    
    return normalized_allocation
