"""
Copyright (c) Meta Platforms, Inc. and affiliates.
"""

import random


# NOTE: This is an example strategy, you should modify it to implement your own strategy. However, DO NOT change the function signature.
def row_strategy(history):
    """Generate a random strategy for Colonel Blotto game with prioritized battlefields."""
    total_soldiers = 120
    num_battlefields = 6
    
    # Decide how many battlefields to prioritize 
    num_prioritized = random.randint(1, num_battlefields)
    # Allocate soldiers to prioritized battlefields
    allocation = [0] * num_battlefields
    for _ in range(num_prioritized):
        battlefield = random.randint(0, num_battlefields - 1)
        allocation[battlefield] += random.randint(10, 30)  # Allocate a bit more to prioritized battlefields  
    # Allocate remaining soldiers randomly
    remaining_soldiers = total_soldiers - sum(allocation)
    
    if remaining_soldiers > 0:
        remaining_indices = [i for i in range(num_battlefields) if allocation[i] == 0]
        for i in remaining_indices:
            allocation[i] = random.randint(0, remaining_soldiers)
            remaining_soldiers -= allocation[i]
    
    # Normalize the allocation to ensure the total number of soldiers is 120
    allocation_sum = sum(allocation)
    normalized_allocation = [int(x * total_soldiers / allocation_sum) for x in allocation]
    
    # Adjust any rounding errors to ensure the total is exactly 120
    while sum(normalized_allocation) != total_soldiers:
        diff = total_soldiers - sum(normalized_allocation)
        index = random.randint(0, num_battlefields - 1)
        normalized_allocation[index] += diff
    
    return normalized_allocation
